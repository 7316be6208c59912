"""The playground: ``ffnn playground`` serves a page that trains ffnn networks live.

Modules: ``data`` (the 2-D sets, the feature map, the in-memory CSV reader), ``settings`` (the
set-up and its checks), ``optim`` (the optimizers, with an L1 block), ``problem`` (split,
features, preprocessing, network), ``session`` (one tab's training state and its frames),
``views`` (the notes' views), ``export`` (model file, data CSV, Python snippet), ``server``
(the Starlette app; needs the ``playground`` extra) and ``cli`` (the sub-command).

Importing this package needs no web framework: only ``server`` imports Starlette.
"""
