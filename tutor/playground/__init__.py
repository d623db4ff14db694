"""The playground: TensorFlow Playground's 2-D datasets, a small MLP trained live, its decision
boundary over the input plane, and the divergence doctor's verdict. Free of Textual."""
