"""The portal: community disclosure pages, the finance dashboard, the big screen, QR codes
and their printable sheets, with their templates and static assets (GraphiQL's too).

It talks to the hub only as an outside portal would: GraphQL over HTTP, or an in-process ASGI
call to `/graphql` with the visitor's credentials, never below the front door. So it imports
nothing of `schema`, `resolvers`, `connectors` or `auth` except the data model (`auth.model`:
region codes, the catalog's names); `huitong` mounts its routes.
"""
