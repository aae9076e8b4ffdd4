from .launch import dist_env, init_cpu_distributed
from .results import DumpPredictions

__all__ = ['init_cpu_distributed', 'dist_env', 'DumpPredictions']
