class PReLUNet:  # placeholder, being written
    pass
