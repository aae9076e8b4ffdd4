from .config_loader import (ConfigAdapterError, enable_package_configs,
                            load_config)
from .config_names import ConfigNameError, resolve_config
from .elastic import explain_collective_failure, restart_reason
from .launch import close_distributed, exit_process, init_distributed
from .model_hub import (ModelHubError, find_model_index, get_model,
                        inference_model, list_models, register_models)
from .results import DumpPredictions
from .validate import feature_map_size, validate_config

__all__ = [
    'init_distributed', 'close_distributed', 'exit_process', 'restart_reason',
    'explain_collective_failure', 'DumpPredictions', 'validate_config',
    'feature_map_size', 'register_models', 'find_model_index', 'ModelHubError',
    'get_model', 'list_models', 'inference_model', 'load_config',
    'enable_package_configs', 'ConfigAdapterError', 'resolve_config',
    'ConfigNameError'
]
