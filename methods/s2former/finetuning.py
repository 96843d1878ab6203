"""Fine-tuning on the target's support set: plain cross-entropy, or DAFT (docs/interpretation.md §7, :mod:`.daft`).

Three phases share one learning-rate schedule over all ``finetune_epochs`` (the budget does not grow):

1. **Linear probe** (the first ``probe_fraction`` of the epochs): only the new band adapter and the new
   head learn, with cross-entropy; the pretrained encoder is frozen. Both start random, and their first
   gradients are large and aimless: letting them reach the encoder first would overwrite what pretraining
   put there (Kumar et al., "Fine-Tuning can Distort Pretrained Features", ICLR 2022: LP-FT).
2. **Teacher start**: DAFT's EMA teacher is copied from the student *after* the probe, so it never holds
   the random head and adapter; with ``daft_ema_warmup`` its decay also ramps up (timm's ``ModelEmaV3``
   warm-up) instead of averaging the first updates at 0.99 from a copy of the starting point.
3. **Full fine-tuning** of everything, with DAFT's alignment loss when ``daft`` is on.

No model selection on test pixels, ever: the training length is fixed by the config, or — when
the task has validation pixels and ``select_on_validation`` is on — the epoch with the best
validation accuracy (earliest on ties) is kept (:mod:`hsibench.methods.validation`, the same for every
method). The student is what predicts afterwards. Every setting is read from
:class:`~hsibench.methods.s2former.config.S2FormerConfig`; the optimiser and schedule are the recipe
shared with MAE (:mod:`hsibench.methods.budget`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from hsibench.methods.base import RunContext
from hsibench.methods.optimization import OptimizerStep, adamw_without_norm_decay
from hsibench.methods.s2former.config import S2FormerConfig
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.model import S2Former
from hsibench.methods.s2former.pretraining import learning_rate_schedule
from hsibench.methods.training import autocast, minibatches, predict_in_batches, to_device
from hsibench.methods.validation import validation_selection
from hsibench.protocol import FewShotTask


@dataclass
class FinetuningResult:
    epoch_losses: list[float] = field(default_factory=list)
    validation_accuracy: list[tuple[int, float]] = field(default_factory=list)  # (epoch, accuracy)
    chosen_epoch: int = 0
    probe_epochs: int = 0
    updates: int = 0  # optimiser updates the loop made


def probe_epochs(config: S2FormerConfig) -> int:
    """Epochs of the linear probe: ``probe_fraction`` of ``finetune_epochs``, rounded (0 when either is 0)."""
    return round(config.probe_fraction * config.finetune_epochs)


def finetuning_optimizer(student: S2Former, config: S2FormerConfig) -> torch.optim.AdamW:
    """AdamW of the shared fine-tuning recipe; with ``weight_decay_on_norms`` every parameter decays (the old recipe)."""
    if config.weight_decay_on_norms:
        return torch.optim.AdamW(student.parameters(), lr=config.finetune_lr, weight_decay=config.weight_decay)
    return adamw_without_norm_decay(student, config.finetune_lr, config.weight_decay)


def finetune(student: S2Former, task: FewShotTask, config: S2FormerConfig, context: RunContext,
             generator: torch.Generator) -> FinetuningResult:
    """Train ``student`` (on ``context.device``) on ``task``'s support set; returns the loss record.

    ``context`` gives the device, precision (fp32 where ``config.amp`` is off), the
    inference batch size of validation and the progress callback; ``generator`` all randomness.
    """
    device = context.device
    support = to_device(task.target.patches.gather(task.support_coords), device)  # [n, S, S, C]: small
    labels = torch.as_tensor(task.support_labels, dtype=torch.long, device=device)
    unlabeled_coords = task.target.valid_coords() if config.daft and config.daft_unlabeled else None
    alignment = DiffusionAlignment(config.daft_steps, config.daft_align) if config.daft else None
    teacher: EMATeacher | None = None

    optimizer = finetuning_optimizer(student, config)  # before freezing: every parameter is in a group
    steps_per_epoch = math.ceil(len(labels) / config.finetune_batch_size)
    schedule = learning_rate_schedule(optimizer, config.finetune_epochs * steps_per_epoch, config)
    optimizer_step = OptimizerStep(optimizer, device, context.precision, schedule)
    selection = validation_selection(
        task, student, lambda coords: predict_in_batches(student, task.target, coords, device,
                                                         context.inference_batch_size, context.precision),
        config.select_on_validation, config.validation_interval, config.finetune_epochs,
        probe=context.checkpoint_probe)
    result = FinetuningResult(chosen_epoch=config.finetune_epochs, probe_epochs=probe_epochs(config))
    student.train()
    student.encoder.requires_grad_(result.probe_epochs == 0)
    for epoch in range(config.finetune_epochs):
        if epoch == result.probe_epochs:
            student.encoder.requires_grad_(True)
            if config.daft:  # the teacher starts from the student the probe made, not from random heads
                teacher = EMATeacher(student, config.daft_momentum, config.daft_ema_warmup)
        total = torch.zeros((), device=device)
        for index in minibatches(len(labels), config.finetune_batch_size, generator):
            index = index.to(device)
            patches = support[index]
            with autocast(device, context.precision):
                loss = F.cross_entropy(student(patches).float(), labels[index])
                if alignment is not None and teacher is not None:
                    if unlabeled_coords is not None:  # target pixels without labels: transductive, by choice
                        drawn = torch.randint(len(unlabeled_coords), (config.finetune_batch_size,), generator=generator)
                        extra = to_device(task.target.patches.gather(unlabeled_coords[drawn.numpy()]), device)
                        patches = torch.cat([patches, extra])
                    loss = loss + config.daft_weight * alignment(student, teacher, patches)
            optimizer_step(loss)
            if teacher is not None:
                teacher.update(student)
            total = total + loss.detach() * len(index)
        result.epoch_losses.append(float(total) / len(labels))
        validation = selection.after_epoch(epoch + 1) if selection is not None else {}
        context.progress(stage="finetune", epoch=epoch + 1, epochs=config.finetune_epochs, loss=result.epoch_losses[-1],
                         **validation)
    if selection is not None:
        selection.restore()
        result.validation_accuracy, result.chosen_epoch = list(selection.history), selection.chosen_epoch
    result.updates = optimizer_step.updates
    student.encoder.requires_grad_(True)
    student.eval()
    return result
