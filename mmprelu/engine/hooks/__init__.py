from .checkpoint_hook import WeightsOnlyCheckpointHook
from .plateau_hook import CheckPlateauMonitorHook

__all__ = ['WeightsOnlyCheckpointHook', 'CheckPlateauMonitorHook']
