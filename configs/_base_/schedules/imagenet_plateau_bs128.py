# The paper's schedule (§3): SGD, momentum 0.9, weight decay 5e-4 (none on
# PReLU slopes), batch 128, lr 1e-2 -> 1e-3 -> 1e-4 "when the error
# plateaus", about 80 epochs. Used by B and C; the ReLU/PReLU pairs use the
# fixed-epoch imagenet_step_bs128.py (same switch epochs in both members).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    # no weight decay on PReLU slopes, found by module type
    constructor='PReLUOptimWrapperConstructor')

# Plateau rule (the paper gives none; our choice): x0.1 when val top-1 has
# not improved by at least 0.1 (percentage points) for 5 validations, never
# below 1e-4. The monitor must be a key of the val metrics (checked by
# CheckPlateauMonitorHook).
param_scheduler = dict(
    type='ReduceOnPlateauLR',
    monitor='accuracy/top1',
    rule='greater',
    factor=0.1,
    patience=5,
    threshold=0.1,
    threshold_rule='abs',
    min_value=1e-4,
    by_epoch=True)

train_cfg = dict(by_epoch=True, max_epochs=80, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr 0.01 is for a total batch of 128 (8 GPUs x 16); --auto-scale-lr scales
# it linearly for other totals.
auto_scale_lr = dict(base_batch_size=128)
