"""The encoder-decoder: exact BPTT through both RNNs (finite differences in float64 for
every parameter, both inputs and the initial state), the composition the docstring states,
teacher forcing against free running, and errors that name the argument."""
import numpy as np
import pytest

from rnn_core.training import seq2seq
from rnn_core.cells import get as get_cell
from rnn_core.experiments import reversal


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradients_match_finite_differences(cell):
    errors = reversal.seq2seq_gradient_check(cell=cell, N=2, S=2, T=2, D=2, H=2, V=3, seed=3)
    mod = get_cell(cell)
    # every parameter of both RNNs and the readout, both inputs, each initial-state key,
    # and the token model's parameters embeddings included
    n_cell = len(mod.param_shapes(2, 2))
    assert len(errors) == 2 + len(mod.STATE_KEYS) + 2 * n_cell + 2 + (2 * n_cell + 2 + 2)
    assert max(errors.values()) < 1e-7, errors


def _setup(cell="gru", N=3, S=4, T=5, D=3, H=4, V=6, seed=0):
    rng = np.random.default_rng(seed)
    params = seq2seq.init_params(V, D, H, cell=cell, seed=seed)
    return params, rng.integers(0, V, (N, S)), rng.integers(0, V, (N, T))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_decoder_starts_from_the_encoders_final_state(cell):
    mod = get_cell(cell)
    params, source, target = _setup(cell)
    cont = {k: params[k] for k in ("encoder", "decoder", "out")}
    x_src = params["E_src"]["E"][source]
    x_dec = params["E_tgt"]["E"][seq2seq.teacher_inputs(target, 6)]
    y, _ = seq2seq.forward(x_src, x_dec, cont, cell=cell)
    _, s_S, _ = mod.forward(x_src, None, params["encoder"])
    h, _, _ = mod.forward(x_dec, s_S, params["decoder"])
    np.testing.assert_allclose(y, h @ params["out"]["W_y"].T + params["out"]["b_y"], rtol=1e-12)


def test_teacher_inputs_shift_the_target_behind_a_start_token():
    target = np.array([[3, 1, 2], [0, 0, 4]])
    np.testing.assert_array_equal(seq2seq.teacher_inputs(target, 5), [[5, 3, 1], [5, 0, 0]])


def test_free_running_is_teacher_forcing_on_its_own_output():
    params, source, _ = _setup()
    free = seq2seq.decode(params, source, 5)
    # fed its own outputs as the "true" previous tokens, the teacher-forced decoder
    # reproduces them: the two modes differ only in what the decoder reads
    np.testing.assert_array_equal(seq2seq.predict_teacher_forced(params, source, free), free)


def test_loss_is_the_summed_cross_entropy_over_output_steps():
    params, source, target = _setup()
    loss, _ = seq2seq.loss_and_grads(params, source, target)
    per_step = [seq2seq.loss_and_grads(params, source, target[:, :t + 1])[0] for t in range(5)]
    # a prefix target gives the loss of the prefix: the last prefix is the whole loss
    assert loss == pytest.approx(per_step[-1], rel=1e-12)
    assert all(b > a for a, b in zip(per_step, per_step[1:]))


def test_bad_input_names_the_argument():
    params, source, target = _setup()
    with pytest.raises(ValueError, match="source"):
        seq2seq.loss_and_grads(params, source + 6, target)
    with pytest.raises(ValueError, match="target"):
        seq2seq.loss_and_grads(params, source, target[:2])
    with pytest.raises(ValueError, match="T"):
        seq2seq.decode(params, source, 0)
    with pytest.raises(ValueError, match="source"):
        seq2seq.decode(params, source[:, :0], 2)
    with pytest.raises(ValueError, match="params"):
        seq2seq.loss_and_grads({"encoder": params["encoder"]}, source, target)
    cont = {k: params[k] for k in ("encoder", "decoder", "out")}
    x = np.zeros((3, 4, 3))
    with pytest.raises(ValueError, match="x_dec"):
        seq2seq.forward(x, np.zeros((2, 4, 3)), cont)
    with pytest.raises(ValueError, match="x_src"):
        seq2seq.forward(np.zeros((3, 4, 2)), x, cont)
    with pytest.raises(ValueError, match="state0"):
        seq2seq.forward(x, x, cont, state0={"h": np.zeros((3, 5))})
    with pytest.raises(ValueError, match="dlogits"):
        seq2seq.backward(np.zeros((3, 4, 5)), seq2seq.forward(x, x, cont)[1])
