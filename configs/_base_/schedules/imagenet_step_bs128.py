# The paper's solver (§3) with a fixed-epoch lr schedule, for the configs
# that compare ReLU with PReLU (Table 2; Tables 4-6, model A). §4 trains
# both members of a pair for the same number of epochs and switches the lr
# after the same number of epochs, so a plateau rule, which would switch each
# model on its own plateau, is not used here.
# SGD, momentum 0.9, weight decay 5e-4 (none on PReLU slopes), batch 128,
# lr 1e-2 -> 1e-3 -> 1e-4, 80 epochs ("about 80").
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    # no weight decay on PReLU slopes, found by module type
    constructor='PReLUOptimWrapperConstructor')

# The paper does not give its switch epochs (our choice): x0.1 at
# max_epochs - 30 and max_epochs - 10, i.e. 1e-2 for 50 epochs, 1e-3 for 20,
# 1e-4 for the last 10. A config that changes max_epochs sets milestones
# with it (Table 2's 75 epochs: [45, 65]).
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[50, 70], gamma=0.1)

train_cfg = dict(by_epoch=True, max_epochs=80, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr 0.01 is for a total batch of 128 (8 GPUs x 16); --auto-scale-lr scales
# it linearly for other totals.
auto_scale_lr = dict(base_batch_size=128)
