

b1e1/7R
alice