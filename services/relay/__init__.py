"""The relay: publishes the ledger's log and the finance outbox on Kafka, in order per key,
at least once (`service_layer/relay.py`). Run one per installation (`tally relay`)."""
