"""The toy model of the Runner-level hook tests: ``fc`` (3 -> 2) then a
PReLU, cross entropy as the loss (mmengine's ``BaseModel`` modes)."""
from mmengine.model import BaseModel
from torch import nn


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.act = nn.PReLU(2)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.act(self.fc(inputs))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(out, labels))
        return out
