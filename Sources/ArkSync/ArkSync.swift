// ArkSync: secure channel, gossip, reconciliation and fetch between nodes.
