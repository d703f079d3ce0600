"""Makes Keras 3 weights loadable by TF Serving's (TF1-style) SavedModel loader.

A Keras 3 variable is a wrapper around a `tf.Variable`. `tf.saved_model.save` writes the
wrapper to the checkpoint as a *copy* ("Variable", "Variable_1", ...) while the serving functions
read the wrapped variable, which then is never restored by the MetaGraph's restore op. Python's
`tf.saved_model.load` hides this (object-based restore), but the C++ loader that TF Serving and
`saved_model_cli run` use fails with "Could not find variable ...". Tracking the wrapped
`tf.Variable`s on the exported module puts them in the checkpoint themselves (Keras'
`ExportArchive` does the same).

Example:

>>> module.serving_variables = serving_variables(classifier, tokenizer)
"""


def serving_variables(*keras_objects):
    """The underlying `tf.Variable`s of every Keras layer/model given, without duplicates."""
    seen, variables = set(), []
    for obj in keras_objects:
        for variable in obj.variables:
            value = getattr(variable, "value", variable)
            if id(value) not in seen:
                seen.add(id(value))
                variables.append(value)
    return variables
