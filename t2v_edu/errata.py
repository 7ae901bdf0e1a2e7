"""Errata of the seed article (notebook 08): what it says, what is right, and where.

``ERRATA`` is a list of :class:`Erratum` rows; ``as_markdown()`` renders the table that
notebook 08 shows. Each row names the notebook of this course that teaches the
correct version (``NOTEBOOKS``) and the source of the correction. Every citation here
was checked against the paper itself or its arXiv / proceedings page.
"""
from __future__ import annotations

from dataclasses import dataclass

# The course's notebooks, by number (file names in solutions/ and notebooks/).
NOTEBOOKS = {
    "01": "01_text_to_vectors", "02": "02_recurrent_networks", "03": "03_self_attention",
    "04": "04_gans",
    "05": "05_vaes", "06": "06_text_to_video", "07": "07_flow_matching",
    "08": "08_reading_the_seed",
}
KINDS = ("formula", "claim", "code", "citation")


@dataclass(frozen=True)
class Erratum:
    """One error of the article: where, what it says, the correction, its source."""

    kind: str        # "formula", "claim", "code" or "citation"
    where: str       # the article's section
    says: str
    correct: str
    source: str
    notebook: str    # key of NOTEBOOKS

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {KINDS}")
        if self.notebook not in NOTEBOOKS:
            raise ValueError(f"notebook {self.notebook!r} is not one of {sorted(NOTEBOOKS)}")


GOODFELLOW_2014 = ("Goodfellow et al. (2014), Generative Adversarial Nets, NeurIPS 27, "
                   "arXiv:1406.2661")
KINGMA_2014 = "Kingma & Welling (2014), Auto-Encoding Variational Bayes, ICLR, arXiv:1312.6114"
VASWANI_2017 = "Vaswani et al. (2017), Attention Is All You Need, NeurIPS 30, arXiv:1706.03762"

ERRATA: list[Erratum] = [
    # --- formulas ---------------------------------------------------------------
    Erratum("formula", "数学模型 1 (GAN)",
            "The GAN generator is G(z) = μ + σ ⊙ z.",
            "μ + σ ⊙ ε is the VAE's reparameterisation of a Gaussian sample, z = μ + σ ⊙ ε "
            "with ε ~ N(0, I). A GAN generator is a neural network G_θ(z) that maps noise "
            "to data; an affine map of Gaussian noise can only produce a Gaussian.",
            f"{KINGMA_2014}; {GOODFELLOW_2014}", "05"),
    Erratum("formula", "数学模型 1 (GAN)",
            "μ and σ are the mean and the variance (方差).",
            "σ is the standard deviation; the variance is σ². (The same σ then names the "
            "sigmoid in the next formula: two meanings for one symbol.)",
            KINGMA_2014, "05"),
    Erratum("formula", "数学模型 1 (GAN)",
            "D(G(z)) = σ(g(z)), with g a second non-linear function of the discriminator.",
            "There is one discriminator f: D(x) = σ(f(x)) and D(G(z)) = σ(f(G(z))), the "
            "same network applied to a generated sample. It never sees z.",
            GOODFELLOW_2014, "04"),
    Erratum("formula", "数学模型 2 (RNN)",
            "The RNN decoder (数学模型 2) is p(y_t | y_<t, x) = softmax(W_hy h_t + b_y), "
            "y_t being 'the decoded word vector'; this decoder is to turn the sequence "
            "vector into video frames.",
            "A softmax over a vocabulary gives a probability for each *word*; y_t is a token, "
            "not a vector and not a frame. Frames need one bounded output per pixel "
            "(a sigmoid, or discrete tokens of a learned tokenizer as in notebook 06). "
            "And h_t must be the decoder's own state, s_t = f(s_{t-1}, y_{t-1}, c(x)): as "
            "printed it reuses the encoder's symbol h_t ('the decoded sequence vector'), no "
            "recurrence for it is given, and nothing on the right depends on y_<t.",
            "Sutskever, Vinyals & Le (2014), arXiv:1409.3215", "02"),
    Erratum("code", "数学模型 2 (RNN) / 项目实践 2",
            "The encoder is h_t = tanh(W_eh e_t + W_hh h_{t-1} + b_h) (while its code uses LSTMs).",
            "That formula is a plain (Elman) RNN cell, correct as such; the code's LSTM adds "
            "input and output gates and a cell state c_t (Hochreiter & Schmidhuber) and a "
            "forget gate (Gers et al.). The two should match.",
            "Hochreiter & Schmidhuber (1997), Long Short-Term Memory, Neural Computation "
            "9(8); Gers, Schmidhuber & Cummins (2000), Learning to Forget, Neural "
            "Computation 12(10)",
            "02"),
    Erratum("formula", "数学模型 3 (self-attention)",
            "α_ij = e^{(QW_Q)_i (KW_K)_j} / Σ_{k=1}^{K} e^{(QW_Q)_i (KW_K)_k}",
            "α_ij = softmax_j(q_i · k_j / √d_k) with q_i = (XW_Q)_i, k_j = (XW_K)_j: the "
            "printed braces never close, the product of two row vectors needs a transpose, "
            "the 1/√d_k scaling is missing, and K is both the key matrix and the sum's bound.",
            VASWANI_2017, "03"),
    Erratum("formula", "数学模型 3 (self-attention)",
            "Attention(Q, K, V) = softmax(Attention(Q, K)) V",
            "Attention(Q, K, V) = softmax(QKᵀ / √d_k) V with V = XW_V: the printed form "
            "defines Attention by itself, and the value projection W_V is missing.",
            VASWANI_2017, "03"),
    # --- claims -------------------------------------------------------------------
    Erratum("claim", "核心概念 5 / 算法 3 (self-attention)",
            "Self-attention relates the text input to the video output.",
            "Attention from video queries to text keys and values is *cross*-attention; "
            "self-attention relates the positions of one sequence to each other.",
            VASWANI_2017, "03"),
    Erratum("claim", "背景 2 / 核心概念 4 / 核心算法 2 (RNN)",
            "RNNs handle the temporal *and spatial* information of a video.",
            "An RNN models order in time; it has no notion of space. Spatial structure "
            "needs convolutions or attention over pixels / patches.",
            "Shi et al. (2015), Convolutional LSTM Network, NeurIPS, arXiv:1506.04214 "
            "(convolutions inside the LSTM, to give it space); Radford, Metz & Chintala "
            "(2015), arXiv:1511.06434", "06"),
    Erratum("claim", "核心概念 3 / 核心算法 1 / 项目实践 3 (GAN)",
            "The discriminator judges the *quality* of generated data.",
            "D estimates the probability that its input came from the training data rather "
            "than from G; a conditional D also judges whether it matches the condition.",
            f"{GOODFELLOW_2014}; Reed et al. (2016), Generative Adversarial Text to Image "
            "Synthesis, ICML, arXiv:1605.05396", "04"),
    Erratum("claim", "背景 3 (latest progress)",
            "Models based on self-attention and VAEs are the latest progress in text-to-video.",
            "Those (GODIVA, 2021, text-conditioned; VideoGPT, 2021, conditioned on classes "
            "or frames) were overtaken from 2022 by diffusion models (Video Diffusion "
            "Models, Make-A-Video), now built on transformers (DiT) and often trained with "
            "flow matching (notebook 07).",
            "Ho et al. (2022), Video Diffusion Models, arXiv:2204.03458; Singer et al. "
            "(2022), Make-A-Video, arXiv:2209.14792; Peebles & Xie (2023), DiT, "
            "arXiv:2212.09748", "07"),
    # --- the code -------------------------------------------------------------------
    Erratum("code", "项目实践 2 (source code)",
            "The code runs (it prints a result).",
            "It cannot run: timesteps, input_dim, output_dim, epochs, batches and np are never "
            "defined; RepeatVector gets a 3-D sequence; return_state is passed to a call; "
            "x, _, _ = unpacks a single tensor; a [B, 128] slice is used as both LSTM "
            "states; TimeDistributed gets a 2-D tensor; real_data = batch[:, :-timesteps] "
            "is empty for a batch [B, timesteps, input_dim], and as the discriminator's "
            "'real video' it has input_dim features where D expects output_dim.",
            "this notebook, part 1 (each failure run)", "08"),
    Erratum("code", "项目实践 2 (source code)",
            "build_generator() maps the text sequence alone to a video (while 数学模型 1 "
            "writes G(z) with z the input noise).",
            "A GAN's generator needs noise beside the condition, G(z, c): without z one "
            "caption can give only one video, so the model cannot learn a distribution of "
            "videos. Notebook 08's repaired model draws z.",
            "Mirza & Osindero (2014), Conditional Generative Adversarial Nets, "
            "arXiv:1411.1784", "08"),
    Erratum("code", "项目实践 3 (code explained)",
            "We alternately train the generator and the discriminator.",
            "Only discriminator.train_on_batch is ever called; the generator is never "
            "compiled, has no loss and no optimizer: its weights never change.",
            "this notebook, part 1", "08"),
    Erratum("code", "项目实践 2 (source code)",
            "The discriminator, Dense(1, sigmoid) after LSTMs with return_sequences=True, is "
            "trained against labels of shape [batch, 1].",
            "It outputs one probability per time step, [B, T, 1]; one verdict per video needs "
            "the last LSTM to return only its last step (or pooling over time). It also "
            "never sees the text, so it cannot check that a video matches its caption.",
            "Reed et al. (2016), arXiv:1605.05396", "04"),
    Erratum("code", "项目实践 2 (source code)",
            "Frames come from TimeDistributed(Dense(output_dim, activation='softmax')).",
            "A softmax makes the values of each frame sum to 1, so no two pixels can be "
            "bright. Pixels in [0, 1] need an element-wise sigmoid (or tanh for [-1, 1]).",
            "Radford, Metz & Chintala (2015), arXiv:1511.06434", "04"),
    Erratum("code", "项目实践 3 (code explained)",
            "The generator encodes with two LSTM layers, repeats the result, then decodes "
            "with one more LSTM layer.",
            "The listing has two decoding LSTMs after RepeatVector, the first called with "
            "return_state=True and the second started from the first one's output "
            "(initial_state=x[:, -1, :]): the explanation describes another network than "
            "the code it explains, and neither of those two calls can run.",
            "this notebook, part 1", "08"),
    Erratum("code", "项目实践 3 (code explained)",
            "We first convert the text input into a numeric sequence (then encode it).",
            "No code tokenises or embeds any text: the input is a hand-written 0/1 vector, "
            "and real_data = batch[:, :-timesteps] makes the generator's input double as "
            "the 'real video'.",
            "this notebook, part 1; tokenisation and embeddings: notebook 01", "01"),
    Erratum("code", "运行结果展示 (running results)",
            "The printed 12 × 9 array, twelve identical rows, is the generated video.",
            "It cannot come from the printed code: a softmax is never negative (the array "
            "has -0.866); the 2-D input [2, 9] does not fit the 3-D model input; two inputs "
            "would print as two blocks [2, T, output_dim]. Identical rows would mean a "
            "static, collapsed generator anyway.",
            "this notebook, part 2", "08"),
    # --- citations --------------------------------------------------------------------
    Erratum("citation", "工具和资源推荐 1",
            "《生成对抗网络》(Generative Adversarial Networks), a book by Ian Goodfellow.",
            "There is no such book. Goodfellow wrote the NIPS 2016 Tutorial: Generative "
            "Adversarial Networks (2016), arXiv:1701.00160; the book is Deep Learning "
            "(Goodfellow, Bengio & Courville, MIT Press 2016), listed just above it.",
            "arXiv:1701.00160", "04"),
    Erratum("citation", "工具和资源推荐 1",
            "《自然语言处理》(Natural Language Processing) by Daniel Jurafsky & James H. Martin.",
            "The book is Speech and Language Processing (Prentice Hall, 2000; 2nd ed. 2008; "
            "3rd edition as an online draft).",
            "the authors' book page (Stanford / University of Colorado)", "01"),
    Erratum("citation", "工具和资源推荐 3",
            "DCGAN by Alexy K. Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton.",
            "Unsupervised Representation Learning with Deep Convolutional Generative "
            "Adversarial Networks is by Alec Radford, Luke Metz & Soumith Chintala (2015, "
            "ICLR 2016). Krizhevsky, Sutskever & Hinton wrote AlexNet (2012); the "
            "first author is Alex Krizhevsky.",
            "arXiv:1511.06434", "04"),
    Erratum("citation", "工具和资源推荐 3",
            "\"Seq2Seq Learning with Neural Networks\" by Sutskever, Vinyals, Le and Jeff Dean.",
            "The title is Sequence to Sequence Learning with Neural Networks, by Ilya "
            "Sutskever, Oriol Vinyals & Quoc V. Le only (NeurIPS 27, 2014). Reference 3 of "
            "the article gets it right.",
            "arXiv:1409.3215", "02"),
    Erratum("citation", "参考资料 5",
            "Courville & Bengio (2012), Memory-efficient backpropagation for "
            "sequence-to-sequence learning, arXiv:1212.5700.",
            "No such paper could be found: arXiv:1212.5701 is Zeiler's ADADELTA: An "
            "Adaptive Learning Rate Method. Most likely invented. Memory-efficient "
            "backpropagation through time is Gruslys et al. (2016), NeurIPS 29.",
            "arXiv:1212.5701; Gruslys et al. (2016), arXiv:1606.03401", "02"),
]


def counts() -> dict[str, int]:
    """How many rows of each kind."""
    return {k: sum(e.kind == k for e in ERRATA) for k in KINDS}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(rows: list[Erratum] | None = None, link_suffix: str = ".ipynb") -> str:
    """The errata as a Markdown table; the last column links to the teaching notebook."""
    rows = ERRATA if rows is None else rows
    lines = ["| # | kind | where | the article says | the correct form | source | learn it in |",
             "|---|---|---|---|---|---|---|"]
    for i, e in enumerate(rows, 1):
        name = NOTEBOOKS[e.notebook]
        link = f"[{name}]({name}{link_suffix})"
        lines.append("| " + " | ".join(_cell(c) for c in (
            str(i), e.kind, e.where, e.says, e.correct, e.source)) + f" | {link} |")
    return "\n".join(lines)
