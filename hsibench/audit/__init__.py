"""``hsibench audit``: how much the field's evaluation habits move the numbers, measured on the same seeds.

:mod:`~hsibench.audit.habits` defines the clean reference and the habits, :mod:`~hsibench.audit.plan` the
trials, :mod:`~hsibench.audit.campaign` runs them, :mod:`~hsibench.audit.effects` computes the paired changes
and single-seed spreads, and :mod:`~hsibench.audit.table`, :mod:`~hsibench.audit.figure` and
:mod:`~hsibench.audit.outputs` write them. It sits above the report layer (it runs trials and renders tables)
and below the CLI.
"""
