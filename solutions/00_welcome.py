# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Welcome: from a caption to a video
#
# **Goals.** By the end of this notebook you can
# - name the stages of a text-to-video model and the notebook that builds each one;
# - check that your computer is ready for the course;
# - read the course's data set: captioned videos of moving shapes, its vocabulary and
#   its four splits (and why one of them is *held out*);
# - write your first checked function.
#
# **Prerequisites.** Python and a little NumPy. No deep learning yet.
#
# **CPU run time.** Under a minute (2 cores, `cpu` preset).
#
# The course grew from a Chinese article, *从文本到视频的AI模型技术演进* ("The technical
# evolution of AI models from text to video"). It names the right ingredients but gets
# several formulas and its code wrong. We build every ingredient from its formula,
# check it against PyTorch, train it on your CPU, and say where the article is wrong in
# boxes like this one:
#
# > **The article says** … **The correct form is** …

# %%
import matplotlib.pyplot as plt
import torch

import t2v_edu
from t2v_edu import data, exercise, viz

cfg = t2v_edu.setup()  # seeds, torch threads, device, preset ("cpu" or "gpu")

# %% [markdown]
# ## 1 · The course map
#
# The article's pipeline is: **text → word embeddings → a sequence model (RNN or
# self-attention) → a generative model (GAN or VAE) → video frames**. Each box below is
# one notebook. Notebooks 06 and 07 put the pieces together into two complete
# text-to-video models, a "classic" one (a VAE that turns frames into tokens, and a
# transformer that writes those tokens from the caption) and a modern one (flow
# matching). Notebook 08 rebuilds the article's own model and shows what goes wrong.

# %%
def draw_course_map():
    """Boxes are notebooks, arrows are "feeds into"."""
    boxes = {  # name: (x, y, label)
        "text": (0.0, 1.0, "caption\n\"a red circle\nmoves left\""),
        "embed": (1.5, 1.0, "01 · tokens &\nword embeddings"),
        "rnn": (3.0, 1.6, "02 · RNN\n(sequence model)"),
        "attn": (3.0, 0.4, "03 · self-attention"),
        "gan": (4.5, 1.6, "04 · GAN\n(generator vs\ndiscriminator)"),
        "vae": (4.5, 0.4, "05 · VAE\n(encoder, decoder,\nlatent z)"),
        "video": (6.0, 1.0, "video\n8 frames × 32×32"),
        "classic": (2.25, -0.8, "06 · classic model:\nFSQ tokens + transformer"),
        "flow": (4.5, -0.8, "07 · modern model:\nflow matching"),
        "seed": (6.0, -0.8, "08 · the article's\nRNN + GAN model,\nread critically"),
    }
    arrows = [("text", "embed"), ("embed", "rnn"), ("embed", "attn"), ("rnn", "gan"),
              ("attn", "vae"), ("rnn", "vae"), ("attn", "gan"), ("gan", "video"),
              ("vae", "video")]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    artists = {}
    for name, (x, y, label) in boxes.items():
        colour = "#F0E442" if name in ("text", "video") else (
            "#56B4E9" if y >= 0 else "#E69F00")
        artists[name] = ax.text(x, y, label, ha="center", va="center", fontsize=9,
                                bbox=dict(boxstyle="round,pad=0.4", fc=colour,
                                          ec="black", lw=0.8))
    for a, b in arrows:  # from the edge of box a to the edge of box b
        ax.annotate("", xy=(0.5, 0.5), xycoords=artists[b], xytext=(0.5, 0.5),
                    textcoords=artists[a],
                    arrowprops=dict(arrowstyle="->", lw=1.2, shrinkA=3, shrinkB=3,
                                    patchA=artists[a].get_bbox_patch(),
                                    patchB=artists[b].get_bbox_patch()))
    ax.text(0.0, -0.8, "the two complete\nmodels, and the\narticle's model:",
            ha="center", va="center", fontsize=9, style="italic")
    ax.set_xlim(-0.8, 6.8)
    ax.set_ylim(-1.5, 2.2)
    ax.set_axis_off()
    ax.set_title("The course map: text → embeddings → RNN / attention → GAN / VAE → video")
    return fig


draw_course_map()
plt.show()

# %% [markdown]
# > **The article says** the GAN generator is $G(z) = \mu + \sigma \odot z$, "where
# > $\mu$ and $\sigma$ are the mean and the variance".
# > **The correct form is** $z = \mu + \sigma \odot \varepsilon$ with
# > $\varepsilon \sim \mathcal N(0, I)$: the *VAE's* reparameterisation trick
# > (notebook 05), and $\sigma$ is the standard deviation, not the variance. A GAN's
# > generator is any network $G_\theta(z)$ trained against a discriminator
# > (notebook 04).

# %% [markdown]
# ## 2 · Is your computer ready?
#
# `t2v_edu.doctor()` checks the versions the course needs, the device it will use
# (CUDA, then Apple's MPS, then the CPU: every notebook is designed to run on a CPU),
# the widget front end that makes sliders appear, and that you can write files here.
# Follow the advice printed next to any ✗.
#
# Each notebook also picks a **preset**, the size of its models and training runs.
# `t2v_edu.setup()` picks the `gpu` preset when CUDA is present and `cpu` otherwise;
# `t2v_edu.setup(preset="cpu")`, or the environment variable `T2V_PRESET=cpu` (or
# `gpu`) set before Jupyter starts, forces one.

# %% tags=["nbval-ignore-output"]
checks = t2v_edu.doctor()

# %% [markdown]
# ## 3 · The data: captioned videos of moving shapes
#
# Real text-to-video data sets hold millions of clips and need a data centre. Ours is
# drawn on the fly: a coloured shape that moves, with a caption that says what it
# does. Nothing is downloaded, and item `i` is the same video on every computer.
#
# `data.MovingShapes(split)` is a PyTorch `Dataset`. Each item is `(video, caption,
# attrs)`:
# - `video`: a float tensor of shape `[T, 3, H, W]` = `[8, 3, 32, 32]` (8 frames of
#   32 × 32 RGB pixels, values in $[0, 1]$);
# - `caption`: a sentence, e.g. *"a red circle moves left"*;
# - `attrs`: what the caption says, one dict per object:
#   `[{"shape": "circle", "color": "red", "motion": "left"}]`.

# %%
train = data.MovingShapes("train")
video, caption, attrs = train[0]
print("videos in the training split:", len(train))
print("video:", tuple(video.shape), video.dtype, "values in",
      [round(video.min().item(), 2), round(video.max().item(), 2)])
print("caption:", repr(caption))
print("attrs:", attrs)

# %% [markdown]
# Here are the first eight training videos, enlarged 4× and looping at 4 frames per
# second, with their captions (left to right, top to bottom):

# %%
videos, captions, _ = train.get_batch(range(8))  # videos: [8, T, 3, H, W]
viz.show_videos(videos, captions, columns=4)

# %% [markdown]
# A video is a stack of frames. Laid side by side, the motion is easy to read:

# %%
fig, axes = plt.subplots(2, 1, figsize=(9, 3))
for k, ax in zip((1, 7), axes):
    viz.frame_strip(videos[k], caption=captions[k], ax=ax)
plt.show()

# %% [markdown]
# ### The vocabulary: a small grammar with synonyms
#
# With the `cpu` settings there are 3 shapes, 4 colours and 6 motions. The colours are
# the Okabe–Ito palette, which people with colour-blindness can tell apart. The `gpu`
# settings add shapes, colours, the motion "shrink", a wider range of sizes and a
# second object (*"a red circle moves left and a blue square moves up"*).

# %%
for name, values in data.attribute_names("cpu").items():
    print(f"{name:>6}: {', '.join(values)}")

# %% [markdown]
# Each motion can be said in several ways, and captions come from several templates.
# So "slides left", "travels left" and "is going to the left" all mean the same
# thing: in notebook 01 you will see word embeddings discover this from the data
# alone.

# %%
for present, progressive in data.MOTION_PHRASES["left"]:
    print(f"{present!r:22} {progressive!r}")
print()
for k, template in enumerate(data.TEMPLATES):
    held = "  (held out of training)" if k in data.HELDOUT_TEMPLATES else ""
    print(f"template {k}: {template}{held}")

# %% [markdown]
# `data.parse_caption` reads a caption back into `attrs`. It knows every word of the
# grammar and nothing else: an unknown word is an error that names the word.

# %%
print(data.parse_caption("the blue square is sliding left"))
print(data.parse_caption("there is a green triangle that does not move"))
try:
    data.parse_caption("a purple circle moves left")
except ValueError as error:
    print("ValueError:", str(error).split(". Known words")[0])

# %% [markdown]
# ### Four splits, and why one is held out
#
# | split | videos | shape–colour–motion triples | caption templates |
# |---|---|---|---|
# | `train` | 50,000 | the seen ones | 0–3 |
# | `val`, `test` | 1,000 each | the seen ones | 0–3 |
# | `heldout` | 1,000 | **never in `train`** | 0–5 (4 and 5 are new) |
#
# A model that has seen red circles, yellow squares and things moving left, but never
# a *yellow circle moving left*, can only draw one by combining what it learned. The
# `heldout` split measures exactly that: **compositional generalisation**. To make the
# test fair, every single value and every *pair* of values (yellow + circle, circle +
# left, yellow + left) still appears in training; only the triple is new.

# %%
heldout = sorted(data.heldout_triples("cpu"))
print(f"{len(heldout)} of {len(data.DATA_SPECS['cpu'].triples())} triples are held out:")
for triple in heldout:
    print("  ", " ".join(triple))

seen = set(data.split_triples("train", "cpu"))
pairs_in_train = all(
    any((s, c, m2) in seen for m2 in data.DATA_SPECS["cpu"].motions)
    and any((s, c2, m) in seen for c2 in data.DATA_SPECS["cpu"].colors)
    and any((s2, c, m) in seen for s2 in data.DATA_SPECS["cpu"].shapes)
    for s, c, m in heldout)
print("every pair of a held-out triple also appears in train:", pairs_in_train)

# %% [markdown]
# Held-out videos look just like the others; only their combination is new:

# %%
heldout_set = data.MovingShapes("heldout")
videos, captions, _ = heldout_set.get_batch(range(4))
viz.show_videos(videos, captions, columns=4)

# %% [markdown]
# ## 4 · Glossary: the article's terms
#
# The article is in Chinese; the course is in English. The terms you will meet, with
# the notebook that builds each one:
#
# | 中文 | English | notebook |
# |---|---|---|
# | 文本到视频 | text-to-video | 06, 07 |
# | 人工智能 (AI) | artificial intelligence | — |
# | 深度学习 | deep learning | — |
# | 自然语言处理 (NLP) | natural language processing | 01 |
# | 计算机视觉 | computer vision | 04, 05 |
# | 数据预处理 | data preprocessing | 01 |
# | 单词向量 / 词嵌入 | word vector / word embedding | 01 |
# | 序列模型 | sequence model | 02 |
# | 循环神经网络 (RNN) | recurrent neural network | 02 |
# | 循环层 | recurrent layer | 02 |
# | 编码器 / 解码器 | encoder / decoder | 02, 05 |
# | 自注意力机制 | self-attention | 03 |
# | 查询向量 / 关键向量 | query vector / key vector ("key" is usually 键) | 03 |
# | 注意力权重 | attention weights | 03 |
# | 加权融合 | weighted combination (a weighted sum of value vectors) | 03 |
# | 生成对抗网络 (GAN) | generative adversarial network | 04 |
# | 生成器 / 判别器 | generator / discriminator | 04 |
# | 对抗训练 | adversarial training | 04 |
# | 输入噪声 | input noise $z$ | 04 |
# | 非线性变换 | non-linear transformation | 02, 04 |
# | 变分自编码器 (VAE) | variational autoencoder | 05 |
# | 均值 / 方差 | mean / variance (the article writes "variance" for $\sigma$, the standard deviation) | 05 |
# | 损失函数 | loss function | 02–07 |
# | 多模态学习 | multimodal learning | 06 |
# | 视频帧序列 | sequence of video frames | 06 |
# | 连贯性 | (temporal) coherence | 06, 07 |
# | 重复向量层 / 时间分布式层 | Keras `RepeatVector` / `TimeDistributed` layers | 08 |
#
# > **The article says** DCGAN (*Unsupervised Representation Learning with Deep
# > Convolutional GANs*) is by Krizhevsky, Sutskever and Hinton, and lists Jeff Dean
# > among the authors of "Seq2Seq Learning with Neural Networks".
# > **The correct form is** DCGAN is by Radford, Metz and Chintala (2015; ICLR 2016);
# > Krizhevsky, Sutskever and Hinton wrote AlexNet (2012). The seq2seq paper is
# > *Sequence to Sequence Learning with Neural Networks*, by Sutskever, Vinyals and Le
# > (2014).

# %% [markdown]
# ## 5 · Your first exercise: write a caption
#
# Every exercise in the course works the same way:
# 1. an **exercise cell**: you replace `raise NotImplementedError()` with your code;
# 2. a **check cell** right after it: it runs your function on a few cases and prints
#    ✓ (passed), ✗ (with what went wrong and what to revisit) or "not done yet".
#
# Until your function passes, later cells use the package's own version (they say
# so), so the notebook always runs top to bottom. Once it passes, they use yours.
#
# **Task.** Write `write_caption(attrs)`: given a list of objects like
# `[{"shape": "circle", "color": "red", "motion": "left"}]`, return a caption that
# `data.parse_caption` reads back as the same list, e.g. *"a red circle moves left"*:
# plain words, no brackets or quotes. Join several objects with " and ".
#
# *Hint:* "moves left" reads fine, but "moves grow" does not: look at
# `data.MOTION_PHRASES[motion]`, a list of `(present, progressive)` phrases.

# %% exercise="write_caption"
def write_caption(attrs: list[dict]) -> str:
    """A caption that parse_caption reads back as ``attrs``."""
    ### BEGIN SOLUTION
    clauses = []
    for obj in attrs:
        present, _ = data.MOTION_PHRASES[obj["motion"]][0]
        clauses.append(f"a {obj['color']} {obj['shape']} {present}")
    return " and ".join(clauses)
    ### END SOLUTION


# %% check="write_caption" points=1
def caption_difference(got, expected):
    """None if caption ``got`` means the same objects as ``expected``, else why not."""
    if not isinstance(got, str):
        return f"write_caption should return a str but returned a {type(got).__name__}"
    odd = sorted({c for c in got if not (c.isalpha() or c.isspace() or c in ".,!")})
    if odd and set(odd) & set("()[]'\""):
        return (f"your caption {got!r} contains {' '.join(odd)}: a caption is plain words "
                f"(did a tuple or list end up in it? each entry of "
                f"data.MOTION_PHRASES[motion] is a (present, progressive) pair: use one "
                f"of its two phrases)")
    if odd:
        return (f"your caption {got!r} contains {' '.join(odd)}: a caption is plain words, "
                "letters and spaces only")
    try:
        parsed = data.parse_caption(got)
    except ValueError as error:
        return (f"your caption {got!r} does not parse: {str(error).split('. Known')[0]}"
                " (the words parse_caption knows are in data.known_words())")
    if parsed != data.parse_caption(expected):
        return f"your caption {got!r} reads as {parsed}, not {data.parse_caption(expected)}"
    return None


visible_cases = [
    ([{"shape": "circle", "color": "red", "motion": "left"}],),
    ([{"shape": "square", "color": "blue", "motion": "still"}],),
    ([{"shape": "triangle", "color": "yellow", "motion": "grow"}],),
    ([{"shape": "circle", "color": "green", "motion": "up"},
      {"shape": "square", "color": "red", "motion": "down"}],),
]
write_caption = exercise.check(write_caption, data.canonical_caption, visible_cases,
                               name="write_caption", compare=caption_difference,
                               formula="parse_caption(write_caption(attrs)) == attrs")
### BEGIN HIDDEN TESTS
g = exercise.random_generator()
names = data.attribute_names("gpu")


def random_attrs(num_objects):
    return [{key: values[torch.randint(len(values), (1,), generator=g).item()]
             for key, values in names.items()} for _ in range(num_objects)]


hidden_cases = [(random_attrs(1 + k % 2),) for k in range(30)]
exercise.assert_matches(write_caption, data.canonical_caption, hidden_cases,
                        name="write_caption", compare=caption_difference,
                        formula="parse_caption(write_caption(attrs)) == attrs")
### END HIDDEN TESTS

# %% [markdown]
# Now the whole loop in miniature: attributes → your caption → parsed back → a video
# drawn for it. (Drawing is not learning yet: from notebook 06 on, a trained model
# draws the video from the caption alone.)

# %%
wish = [{"shape": "triangle", "color": "yellow", "motion": "grow"}]
text = write_caption(wish)
print("caption:", repr(text))
viz.show_videos(data.render(data.parse_caption(text), seed=3), [text])

# %% [markdown]
# ## What's next
#
# Notebook **01 · Text to vectors** turns these captions into numbers: tokens, one-hot
# vectors and learned word embeddings, and shows that "slides" ends up next to
# "moves".
#
# **Summary.** A text-to-video model reads a caption, turns it into vectors, models the
# sequence, and generates frames. Our data is small enough to train all of it on a
# laptop: 8 frames of 32 × 32 pixels, 72 shape–colour–motion triples, 9 of them held
# out to test whether a model can combine what it learned.
