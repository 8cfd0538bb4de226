"""How a configuration document names its objects, and how stored objects are named back.

Providers are identified by ``name`` and keys by ``label`` within their provider, in the
form the services store them: a provider name is trimmed (``check_name``), a label is
trimmed (``check_text``). A document is normalised the same way before anything is
looked up, so ``" local"`` finds the stored ``local`` instead of trying to create it again.

A stored key has no usable identity when its label is empty (the API's default) or
repeats an earlier key's label in the same pool. Export and apply then both call it by a
generated label (``key-1``, ``key-2`` … in pool order, skipping labels the pool really
uses), and apply stores that label on it, so the identity survives later pool changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatgate.configdoc.schemas import ConfigDocument
from chatgate.db.tables import ProviderKey
from chatgate.errors import ApiError, bad_request
from chatgate.providers.validation import check_name
from chatgate.validation import check_text

GENERATED_LABEL = "key-{}"


def _named(error: ApiError, path: str) -> ApiError:
    return ApiError(error.status, error.code, f"{path}: {error.message}", {"path": path})


def normalized_document(document: ConfigDocument) -> ConfigDocument:
    """The document with provider names, key labels and model→provider references in
    their stored form; a name or label the services would refuse is a 400 naming it."""
    providers = []
    for i, provider in enumerate(document.providers):
        try:
            name = check_name(provider.name)
        except ApiError as error:
            raise _named(error, f"providers[{i}].name") from None
        keys = []
        for j, key in enumerate(provider.keys):
            path = f"providers[{i}].keys[{j}].label"
            try:
                label = check_text(key.label, "label")
            except ApiError as error:
                raise _named(error, path) from None
            if label == "":
                raise ApiError(
                    400,
                    "label_required",
                    f"{path}: a key in a document needs a label: it identifies the key",
                    {"path": path},
                )
            keys.append(key.model_copy(update={"label": label}))
        providers.append(provider.model_copy(update={"name": name, "keys": keys}))
    models = [
        model
        if model.provider is None
        else model.model_copy(update={"provider": model.provider.strip()})
        for model in document.models
    ]
    return document.model_copy(update={"providers": providers, "models": models})


def check_identities(document: ConfigDocument) -> None:
    """Names (and labels within a provider) identify objects: each at most once. Run on
    the normalised document, so two spellings of one name count as the same name."""
    seen: set[str] = set()
    for i, provider in enumerate(document.providers):
        if provider.name in seen:
            raise _named(_duplicate("name"), f"providers[{i}].name")
        seen.add(provider.name)
        labels: set[str] = set()
        for j, key in enumerate(provider.keys):
            if key.label in labels:
                raise _named(_duplicate("label"), f"providers[{i}].keys[{j}].label")
            labels.add(key.label)
    models: set[str] = set()
    for k, model in enumerate(document.models):
        if model.name in models:
            raise _named(_duplicate("name"), f"models[{k}].name")
        models.add(model.name)


def _duplicate(field_name: str) -> ApiError:
    return bad_request(
        f"{field_name}_duplicate", f"this {field_name} appears twice in the document", field_name
    )


def pool_labels(pool: Sequence[ProviderKey]) -> list[str]:
    """Each stored key's label in a document, in pool order: its own when non-empty and
    the first of its kind, else a generated one no key of the pool uses."""
    taken = {key.label for key in pool if key.label}
    labels: list[str] = []
    seen: set[str] = set()
    counter = 0
    for key in pool:
        if key.label and key.label not in seen:
            labels.append(key.label)
            seen.add(key.label)
            continue
        counter += 1
        while GENERATED_LABEL.format(counter) in taken:
            counter += 1
        labels.append(GENERATED_LABEL.format(counter))
    return labels
