"""Live subscriptions over graphql-transport-ws: the protocol's pieces (protocol.py) and the live hub that executes
identical subscriptions once per event (hub.py). The event pipeline itself (gateway/events/) knows nothing of
GraphQL; this package reads it through the broker."""
