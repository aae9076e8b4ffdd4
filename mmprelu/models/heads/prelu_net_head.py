class PReLUNetHead:  # placeholder, being written
    pass
