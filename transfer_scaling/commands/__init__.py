"""One module per `transfer-scaling` command, each with main(argv) -> int."""
