"""Flow exported from foreach_join.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python foreach_join_flow.py run
"""

import math

from jupyter_flow import Flow


flow = Flow("ForeachJoinFlow", parameters={"alphas": [0.1, 1.0, 10.0], "seed": 0})


# cell 3 (id: c3)
@flow.step(outputs=("base",))
def prepare(seed):
    base = seed + 1
    return base


# cell 4 (id: c4)
@flow.step(
    catch=True,
    image="python:3.11",
    foreach="alpha in alphas",
    outputs=("score", "steps"),
)
def sweep(alpha, base):
    score = math.log(alpha) * base
    steps = 0
    for i in range(3):
        steps += i
    return score, steps


# cell 5 (id: c5)
@flow.step(outputs=("best", "best_alpha"))
def pick(score, alphas):
    best = max(score)
    best_alpha = alphas[score.index(best)]
    return best, best_alpha


# cell 6 (id: c6)
@flow.step(outputs=("score",))
def rescore(score):
    score = [s * 2 for s in score]
    return score


if __name__ == "__main__":
    flow.main()
