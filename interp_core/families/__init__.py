"""The families of explanations, one folder each (prototypes, sae, concepts, timeseries, rules,
mechanisms). Each folder's ``__init__.py`` registers its datasets, architectures, trainers and
recipes and ends with ``register_family(Family(...))`` (see ``interp_core/family.py``).
``interp_core.family.load_families()`` imports them; nothing else imports a family by name.
"""
