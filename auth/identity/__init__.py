"""Identity: who is asking. The frozen `Principal` (and named system principals for the hub's
own background work), bearer JWTs (`tokens`), API keys kept hashed in the hub store
(`apikeys`), turning a request's headers into a principal (`authenticate`) and the `[auth]`
settings (`config`).
"""
