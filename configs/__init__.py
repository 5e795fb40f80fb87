"""The study and training configs (`--config NAME` finds them here); shipped as transfer_scaling.configs."""
