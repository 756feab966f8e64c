"""Figure plumbing shared by the bench studies (headless backend, save and close)."""

from __future__ import annotations

from pathlib import Path


def axes(ncols: int = 1, figsize: tuple[float, float] = (7, 4.5)):
    """A new figure with ``ncols`` axes on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=figsize)


def save(fig, path: Path, title: str | None = None, ax=None) -> None:
    """Title and legend on ``ax`` (if given), then write the PNG and free the figure."""
    import matplotlib.pyplot as plt

    if ax is not None:
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
