


b1e1/8zXYZ