class RandomResizeEdge:  # placeholder, being written
    pass
