


b1e1/8R
alice