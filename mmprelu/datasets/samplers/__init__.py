from .exact_resume import EpochIndex, EpochPlan, ExactResumeSampler

__all__ = ['EpochIndex', 'EpochPlan', 'ExactResumeSampler']
