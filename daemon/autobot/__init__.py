"""autobot: operates the lottery_multi Move package on Supra L1."""

__version__ = "0.1.0"
