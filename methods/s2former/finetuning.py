"""Fine-tuning on the target's support set: plain cross-entropy, or DAFT (docs/interpretation.md §7, :mod:`.daft`).

No model selection on test pixels, ever: the training length is fixed by the config, or — when
the task has validation pixels and ``select_on_validation`` is on — the epoch with the best
validation accuracy (earliest on ties) is kept. The student is what predicts afterwards. Every
setting is read from :class:`~hsibench.methods.s2former.config.S2FormerConfig`; the learning-rate
schedule is pretraining's (:func:`~hsibench.methods.s2former.pretraining.learning_rate_schedule`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from hsibench.methods.base import RunContext
from hsibench.methods.optimization import OptimizerStep
from hsibench.methods.s2former.config import S2FormerConfig
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.model import S2Former
from hsibench.methods.s2former.pretraining import learning_rate_schedule
from hsibench.methods.training import autocast, minibatches, predict_in_batches, to_device
from hsibench.protocol import FewShotTask


@dataclass
class FinetuningResult:
    epoch_losses: list[float] = field(default_factory=list)
    validation_accuracy: list[tuple[int, float]] = field(default_factory=list)  # (epoch, accuracy)
    chosen_epoch: int = 0


def validation_accuracy(student: S2Former, task: FewShotTask, context: RunContext) -> float:
    student.eval()
    predicted = predict_in_batches(student, task.target, task.validation_coords, context.device,
                                   context.inference_batch_size, context.amp)
    student.train()
    return float(np.mean(predicted == task.validation_labels))


def finetune(student: S2Former, task: FewShotTask, config: S2FormerConfig, context: RunContext,
             generator: torch.Generator) -> FinetuningResult:
    """Train ``student`` (on ``context.device``) on ``task``'s support set; returns the loss record.

    ``context`` gives the device, mixed precision (already combined with ``config.amp``), the
    inference batch size of validation and the progress callback; ``generator`` all randomness.
    """
    device = context.device
    support = to_device(task.target.patches.gather(task.support_coords), device)  # [n, S, S, C]: small
    labels = torch.as_tensor(task.support_labels, dtype=torch.long, device=device)
    unlabeled_coords = task.target.valid_coords() if config.daft and config.daft_unlabeled else None
    teacher = EMATeacher(student, config.daft_momentum) if config.daft else None
    alignment = DiffusionAlignment(config.daft_steps, config.daft_align) if config.daft else None

    optimizer = torch.optim.AdamW(student.parameters(), lr=config.finetune_lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(labels) / config.finetune_batch_size)
    schedule = learning_rate_schedule(optimizer, config.finetune_epochs * steps_per_epoch, config)
    optimizer_step = OptimizerStep(optimizer, device, context.amp, schedule)
    selecting = config.select_on_validation and len(task.validation_coords) > 0
    best_accuracy, best_state = -1.0, None
    result = FinetuningResult(chosen_epoch=config.finetune_epochs)
    student.train()
    for epoch in range(config.finetune_epochs):
        total = torch.zeros((), device=device)
        for index in minibatches(len(labels), config.finetune_batch_size, generator):
            index = index.to(device)
            patches = support[index]
            with autocast(device, context.amp):
                loss = F.cross_entropy(student(patches).float(), labels[index])
                if alignment is not None:
                    if unlabeled_coords is not None:  # target pixels without labels: allowed, like the scene z-score
                        drawn = torch.randint(len(unlabeled_coords), (config.finetune_batch_size,), generator=generator)
                        extra = to_device(task.target.patches.gather(unlabeled_coords[drawn.numpy()]), device)
                        patches = torch.cat([patches, extra])
                    loss = loss + config.daft_weight * alignment(student, teacher, patches)
            optimizer_step(loss)
            if teacher is not None:
                teacher.update(student)
            total = total + loss.detach() * len(index)
        result.epoch_losses.append(float(total) / len(labels))
        context.progress(stage="finetune", epoch=epoch + 1, epochs=config.finetune_epochs, loss=result.epoch_losses[-1])
        if selecting and ((epoch + 1) % config.validation_interval == 0 or epoch + 1 == config.finetune_epochs):
            accuracy = validation_accuracy(student, task, context)
            result.validation_accuracy.append((epoch + 1, accuracy))
            if accuracy > best_accuracy:
                best_accuracy, result.chosen_epoch = accuracy, epoch + 1
                best_state = copy.deepcopy(student.state_dict())
    if best_state is not None:
        student.load_state_dict(best_state)
    student.eval()
    return result
