class PReLU:
    pass


def build_activation(*a, **k):
    raise NotImplementedError
