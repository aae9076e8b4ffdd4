from .launch import (close_distributed, dist_env, exit_process,
                     init_cpu_distributed)
from .results import DumpPredictions
from .validate import feature_map_size, validate_config

__all__ = [
    'init_cpu_distributed', 'close_distributed', 'exit_process', 'dist_env',
    'DumpPredictions', 'validate_config', 'feature_map_size'
]
