from .launch import init_cpu_distributed

__all__ = ['init_cpu_distributed']
