"""Match keys computed again with the normalised name and address (voting.matching): identities
stored before kept keys of the old folding, which "St" and "Street" (and the kind of unit) split.

An officials' decision on a group of possible duplicates follows its group to the new key when the
group is exactly the same people; a group that grows (two old groups are now one, or an identity
without a key joins) has new members to look at, and is reviewed again."""

from collections import defaultdict

from django.db import migrations

from voting import crypto


def recompute(apps, schema_editor):
    Identity = apps.get_model("voting", "Identity")
    DuplicateReview = apps.get_model("voting", "DuplicateReview")
    changed = []
    olds_of_new, news_of_old = defaultdict(set), defaultdict(set)
    fields = ("pk", "name", "address", "date_of_birth", "match_key")
    for identity in Identity.objects.only(*fields).iterator():
        key = crypto.match_key(name=identity.name, date_of_birth=identity.date_of_birth, address=identity.address)
        olds_of_new[key].add(identity.match_key)
        news_of_old[identity.match_key].add(key)
        if key != identity.match_key:
            identity.match_key = key
            changed.append(identity)
    Identity.objects.bulk_update(changed, ["match_key"], batch_size=1000)
    for old, news in news_of_old.items():
        (new,) = news if len(news) == 1 else (None,)
        if old and new and new != old and olds_of_new[new] == {old}:
            DuplicateReview.objects.filter(match_key=old).update(match_key=new)


class Migration(migrations.Migration):
    dependencies = [("voting", "0007_ballot_void_time")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop, elidable=True)]
