"""New-style (pure Python) mmengine configs of mmprelu, generated from the
text configs in configs/ by tools/misc/generate_package_configs.py
(do not edit: edit those and rerun the tool). Use them as
``with read_base(): from mmprelu.configs.prelu_net_c_8xb16 import *``
(docs/downstream.md).
"""
