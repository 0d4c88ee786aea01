"""The `rest` kind: JSON over HTTP with httpx. `config` checks the source's options and
per-entity endpoints, `plan` decides what to ask the API (pushed-down filters, sort, pages),
`http` sends it (pooled client, retries, backoff) behind the circuit `breaker`, `connector`
pages through the answers and evaluates the rest hub-side, `factory` builds it."""
