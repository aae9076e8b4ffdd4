"""What torch 2.1's ``torch.load(weights_only=True)`` would refuse in a
file, checked on any torch: the newest one reads more, so the tests of the
checkpoint format scan the pickle against 2.1's fixed allowlist
(``torch/_weights_only_unpickler.py`` of torch 2.1.2: its globals and the
opcodes it implements)."""
import pickletools
import re
import zipfile

_GLOBALS = {
    'collections.OrderedDict', 'torch.nn.parameter.Parameter',
    'torch.serialization._get_layout', 'torch.Size', 'torch.Tensor',
    'torch._tensor._rebuild_from_type_v2'
}
_GLOBALS |= {
    f'torch.{d}'
    for d in ('complex32', 'complex64', 'complex128', 'float16', 'float32',
              'float64', 'int8', 'int16', 'int32', 'int64')
}
_GLOBALS |= {
    f'torch._utils._rebuild_{f}'
    for f in ('parameter', 'tensor', 'tensor_v2', 'sparse_tensor',
              'meta_tensor_no_storage')
}
# torch.FloatTensor ..., torch.FloatStorage ..., torch.UntypedStorage
_CLASS = re.compile(r'torch\.(cuda\.)?\w*(Tensor|Storage)$')
_OPCODES = {
    'APPEND', 'APPENDS', 'BINFLOAT', 'BINGET', 'BININT', 'BININT1', 'BININT2',
    'BINPERSID', 'BINPUT', 'BINUNICODE', 'BUILD', 'EMPTY_DICT', 'EMPTY_LIST',
    'EMPTY_SET', 'EMPTY_TUPLE', 'GLOBAL', 'LONG1', 'LONG_BINGET',
    'LONG_BINPUT', 'MARK', 'NEWFALSE', 'NEWOBJ', 'NEWTRUE', 'NONE', 'PROTO',
    'REDUCE', 'SETITEM', 'SETITEMS', 'SHORT_BINSTRING', 'STOP', 'TUPLE',
    'TUPLE1', 'TUPLE2', 'TUPLE3'
}


def torch21_refusals(path):
    """Sorted globals and opcodes of the checkpoint at ``path`` (a file or
    file object written by ``torch.save``) that torch 2.1 refuses."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
        data = archive.read(name)
    found = set()
    for op, arg, _ in pickletools.genops(data):
        if op.name == 'GLOBAL':
            full = arg.replace(' ', '.')
            if full not in _GLOBALS and not _CLASS.match(full):
                found.add(f'GLOBAL {full}')
        elif op.name not in _OPCODES:
            found.add(f'opcode {op.name}')
    return sorted(found)
