from .bad_image_hook import BadImageReportHook
from .channels_last_hook import ChannelsLastHook
from .checkpoint_hook import WeightsOnlyCheckpointHook
from .divergence_hook import DivergenceHook, TrainingDiverged
from .plateau_hook import CheckPlateauMonitorHook
from .prelu_slope_hook import PReLUSlopeHook
from .resume_hook import ExactResumeHook
from .safe_checkpoint_hook import IterCheckpointHook, SafeCheckpointHook
from .slope_decay_hook import SlopeDecayCheckHook
from .switchable import SwitchableHook

__all__ = [
    'WeightsOnlyCheckpointHook', 'CheckPlateauMonitorHook', 'PReLUSlopeHook',
    'DivergenceHook', 'TrainingDiverged', 'ExactResumeHook',
    'BadImageReportHook', 'ChannelsLastHook', 'SafeCheckpointHook',
    'IterCheckpointHook', 'SlopeDecayCheckHook', 'SwitchableHook'
]
