class PReLUOptimWrapperConstructor:  # placeholder, being written
    pass
