"""A small hyper-parameter sweep: load data, fit one model per alpha in parallel, pick the best.

Run it with ``python examples/flows/sweep_flow.py run`` (or ``jupyter flow run ...``).
"""

import numpy as np

from jupyter_flow import Flow

flow = Flow(
    "SweepFlow", parameters={"n_samples": 2000, "alphas": [0.01, 0.1, 1.0, 10.0], "seed": 0}
)


@flow.step(outputs=("X", "y"))
def load(n_samples, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 5))
    y = X @ np.array([1.5, -2.0, 0.0, 0.7, 3.0]) + rng.normal(scale=0.5, size=n_samples)
    print(f"generated {n_samples} samples")
    return X, y


@flow.step(foreach="alpha in alphas", outputs=("score",))
def fit(alpha, X, y):
    n = len(y) * 4 // 5
    A = X[:n]
    w = np.linalg.solve(A.T @ A + alpha * np.eye(A.shape[1]), A.T @ y[:n])
    residual = y[n:] - X[n:] @ w
    score = float(1 - residual.var() / y[n:].var())
    print(f"alpha={alpha}: R^2={score:.4f}")
    return score


@flow.step(outputs=("best_alpha", "best_score"))
def pick(alphas, score):
    best = int(np.argmax(score))
    return alphas[best], score[best]


if __name__ == "__main__":
    flow.main()
