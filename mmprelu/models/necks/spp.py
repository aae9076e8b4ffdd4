class SpatialPyramidPooling:  # placeholder, being written
    pass
