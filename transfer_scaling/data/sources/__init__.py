"""Where corpus text comes from: one module per family of sources."""
