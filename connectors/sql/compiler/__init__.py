"""The `sql` kind's tree compiler: a whole tree of scoped reads (a GraphQL selection's lists,
lookups, relations both ways, counts and region subtrees) as one SQL statement that returns
all of it as JSON (`statement`), with values written losslessly and masks applied inside the
statement (`values`), read back into the connector's canonical rows (`answer`)."""

from .answer import read_answer
from .cache import CompiledTree, StatementCache, compile_tree, tree_key
from .statement import NodePlan, TreeStatement

__all__ = ["CompiledTree", "NodePlan", "StatementCache", "TreeStatement", "compile_tree",
           "read_answer", "tree_key"]
