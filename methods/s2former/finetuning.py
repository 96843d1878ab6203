"""Fine-tuning on the target's support set: plain cross-entropy, or DAFT (PAPER.md §7, :mod:`.daft`).

No model selection on test pixels, ever: the training length is fixed by the config, or — when
the task has validation pixels and ``select_on_validation`` is on — the epoch with the best
validation accuracy (earliest on ties) is kept. The student is what predicts afterwards.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.model import S2Former
from hsibench.methods.s2former.pretraining import cosine_schedule, gradient_scaler
from hsibench.methods.training import autocast, minibatches, predict_in_batches, to_device
from hsibench.protocol import FewShotTask


@dataclass(frozen=True)
class FinetuningSettings:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_fraction: float
    daft: bool
    daft_steps: int
    daft_weight: float
    daft_momentum: float
    daft_align: str
    daft_unlabeled: bool
    select_on_validation: bool
    validation_interval: int
    amp: bool
    inference_batch_size: int = 1024


@dataclass
class FinetuningResult:
    epoch_losses: list[float] = field(default_factory=list)
    validation_accuracy: list[tuple[int, float]] = field(default_factory=list)  # (epoch, accuracy)
    chosen_epoch: int = 0


def validation_accuracy(student: S2Former, task: FewShotTask, device: torch.device, settings: FinetuningSettings) -> float:
    student.eval()
    predicted = predict_in_batches(student, task.target, task.validation_coords, device,
                                   settings.inference_batch_size, settings.amp)
    student.train()
    return float(np.mean(predicted == task.validation_labels))


def finetune(student: S2Former, task: FewShotTask, settings: FinetuningSettings, device: torch.device,
             progress: Callable[..., None], generator: torch.Generator) -> FinetuningResult:
    """Train ``student`` (on ``device``) on ``task``'s support set; returns the loss record."""
    support = to_device(task.target.patches.gather(task.support_coords), device)  # [n, S, S, C]: small
    labels = torch.as_tensor(task.support_labels, dtype=torch.long, device=device)
    unlabeled_coords = task.target.patches.all_coords() if settings.daft and settings.daft_unlabeled else None
    teacher = EMATeacher(student, settings.daft_momentum) if settings.daft else None
    alignment = DiffusionAlignment(settings.daft_steps, settings.daft_align) if settings.daft else None

    optimizer = torch.optim.AdamW(student.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(labels) / settings.batch_size)
    scheduler = cosine_schedule(optimizer, settings.epochs * steps_per_epoch, settings.warmup_fraction)
    scaler = gradient_scaler(device, settings.amp)
    selecting = settings.select_on_validation and len(task.validation_coords) > 0
    best_accuracy, best_state = -1.0, None
    result = FinetuningResult(chosen_epoch=settings.epochs)
    student.train()
    update = 0
    for epoch in range(settings.epochs):
        total = torch.zeros((), device=device)
        for index in minibatches(len(labels), settings.batch_size, generator):
            index = index.to(device)
            patches = support[index]
            with autocast(device, settings.amp):
                loss = F.cross_entropy(student(patches).float(), labels[index])
                if alignment is not None:
                    if unlabeled_coords is not None:  # target pixels without labels: allowed, like the scene z-score
                        drawn = torch.randint(len(unlabeled_coords), (settings.batch_size,), generator=generator)
                        extra = to_device(task.target.patches.gather(unlabeled_coords[drawn.numpy()]), device)
                        patches = torch.cat([patches, extra])
                    loss = loss + settings.daft_weight * alignment(student, teacher, patches)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            update += 1
            scheduler.step_update(update)
            if teacher is not None:
                teacher.update(student)
            total = total + loss.detach() * len(index)
        result.epoch_losses.append(float(total) / len(labels))
        progress(stage="finetune", epoch=epoch + 1, epochs=settings.epochs, loss=result.epoch_losses[-1])
        if selecting and ((epoch + 1) % settings.validation_interval == 0 or epoch + 1 == settings.epochs):
            accuracy = validation_accuracy(student, task, device, settings)
            result.validation_accuracy.append((epoch + 1, accuracy))
            if accuracy > best_accuracy:
                best_accuracy, result.chosen_epoch = accuracy, epoch + 1
                best_state = copy.deepcopy(student.state_dict())
    if best_state is not None:
        student.load_state_dict(best_state)
    student.eval()
    return result
