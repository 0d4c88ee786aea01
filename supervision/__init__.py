"""Risk supervision (风险监督): the rules that flag spending for discipline inspectors, the
scanner that runs them over the sources, the alert workflow (acknowledge, respond, dismiss,
transfer to a case, close) and the health index of a region and period.

Services, not endpoints: no GraphQL and no HTTP here (`schema` and `resolvers` expose them).
They read through `connectors.gateway` as a named system principal
(`auth.identity.principal.system_principal`), so the scanner sees what its role sees and every
read is audited; alerts live in the hub store and are entities of the catalog like any other.
Imports `connectors` and `auth`, never `publishing`.
"""
