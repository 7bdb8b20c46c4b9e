"""The cells' unchecked passes as training/ and experiments/ call them: the one place that
changes when the cells take check=False.

On the cells branch these are mod.forward(x, state0, params, check=False, **opts),
mod.backward(dh, cache, dstate_T, truncate, check=False) and the step functions likewise;
until then they are the cells' own unchecked _forward, _backward, _step_forward,
_step_backward and _options, which no other module of these rooms names. The caller has
checked its arguments once at its public edge; state0 is a full state dict, opts complete.
"""


def options(mod, opts):
    """The cell's options checked against its OPTIONS, completed with their defaults."""
    return mod._options(opts)


def forward(mod, x, state0, params, opts):
    """mod.forward without checks: (h (N, T, H), state_T, cache)."""
    return mod._forward(x, state0, params, opts)


def backward(mod, dh, cache, dstate_T, truncate):
    """mod.backward without checks: (dx, dstate0, grads)."""
    return mod._backward(dh, cache, dstate_T, truncate)


def step_forward(mod, x_t, state, params, opts):
    """mod.step_forward without checks: (state_t, cache)."""
    return mod._step_forward(x_t, state, params, opts)


def step_backward(mod, dstate, cache):
    """mod.step_backward without checks: (dx_t, dstate_prev, grads)."""
    return mod._step_backward(dstate, cache)
