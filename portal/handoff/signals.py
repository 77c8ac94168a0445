"""A user's access changes (deactivated, a group or permission gained or lost) or their session ends: tell their
agent sockets (events.user_group) once that commits. Connected in HandoffConfig.ready."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from conversations import events

_CHANGES = {"post_add", "post_remove", "pre_clear"}  # pre_clear: the members are still there to be told


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        events.session_ended(user.pk)


@receiver(post_save, sender=User)
def _user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created:  # every save: the socket compares its access and acts only on a change
        events.access_changed(instance.pk)


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
def _user_relations_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action not in _CHANGES:
        return
    if isinstance(instance, User):
        user_ids = {instance.pk}
    elif pk_set is not None:  # group.user_set.add(...): pk_set holds the users
        user_ids = set(pk_set)
    else:  # group.user_set.clear()
        user_ids = set(instance.user_set.values_list("pk", flat=True))
    for user_id in user_ids:
        events.access_changed(user_id)


@receiver(m2m_changed, sender=Group.permissions.through)
def _group_permissions_changed(
    sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action not in _CHANGES:
        return
    if isinstance(instance, Group):
        groups = Group.objects.filter(pk=instance.pk)
    elif pk_set is not None:  # permission.group_set.add(...): pk_set holds the groups
        groups = Group.objects.filter(pk__in=pk_set)
    else:  # permission.group_set.clear()
        groups = instance.group_set.all()
    for user_id in User.objects.filter(groups__in=groups).values_list("pk", flat=True).distinct():
        events.access_changed(user_id)
