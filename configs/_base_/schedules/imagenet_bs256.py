# mmpretrain's standard ImageNet schedule for zoo models: SGD lr 0.1 for a
# total batch of 256, momentum 0.9, weight decay 1e-4, x0.1 at epochs 30, 60
# and 90, 100 epochs (--auto-scale-lr scales lr linearly for other totals).
_base_ = ['mmpretrain::_base_/schedules/imagenet_bs256.py']

# ours: no weight decay on PReLU slopes (§2.1), found by module type
optim_wrapper = dict(constructor='PReLUOptimWrapperConstructor')
