"""transfer_scaling: how much is pre-training worth on a target distribution?"""
__version__ = "0.1.0"
